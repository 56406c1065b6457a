package app

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3.1 description of the HTTP API (openapi.json),
// served at GET /api/openapi.json. It is written by hand; the tests check it
// against the route tables (every public route described, every described
// route served) and validate real requests and responses against it.
//
//go:embed openapi.json
var OpenAPI []byte

// handleOpenAPI serves OpenAPI.
func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(OpenAPI)
}
