package rhai

// STUB: owned by helper-coll, to be replaced.
func stdMap(m *Module) {}
