ALTER TABLE sessions DROP COLUMN scopes;
ALTER TABLE sessions DROP COLUMN subject;
