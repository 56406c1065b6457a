-- Confined scripts: the script-name pattern of the restricted deploy token
-- that last wrote the script ('' : unconfined). A confined script reads only
-- its own secrets and exchanges events and imports only with the scripts its
-- pattern admits and that admit it (docs/access-control.md).
ALTER TABLE scripts ADD COLUMN confined_to TEXT NOT NULL DEFAULT '';
