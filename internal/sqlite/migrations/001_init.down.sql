DROP TABLE settings;
DROP TABLE executions;
DROP TABLE script_versions;
DROP TABLE scripts;
