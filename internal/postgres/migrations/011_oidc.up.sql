-- Single sign-on (OIDC): a session opened through the identity provider
-- remembers who signed in (subject: the email, else the provider's subject)
-- and the scopes the operator's grants gave them (comma-separated; '' for a
-- session opened with a token, which acts with the token's scopes).
ALTER TABLE sessions ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
