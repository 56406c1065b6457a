DROP TABLE script_drafts;
