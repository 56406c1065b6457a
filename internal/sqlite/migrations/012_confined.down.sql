ALTER TABLE scripts DROP COLUMN confined_to;
