DROP TABLE kv;
ALTER TABLE scripts DROP COLUMN kv_namespaces;
ALTER TABLE scripts DROP COLUMN kv_max_keys;
ALTER TABLE scripts DROP COLUMN kv_max_bytes;
