"""HTML reports people read instead of tables: plots embedded, no server needed."""
