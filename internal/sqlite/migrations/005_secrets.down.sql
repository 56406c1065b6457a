DROP TRIGGER scripts_delete_secrets;
DROP TABLE secrets;
