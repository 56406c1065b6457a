DROP TRIGGER scripts_delete_secrets ON scripts;
DROP FUNCTION scripts_delete_secrets();
DROP TABLE secrets;
