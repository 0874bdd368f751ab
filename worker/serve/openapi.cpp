#include "worker/serve/openapi.h"

namespace frameprint::serve {

namespace {

constexpr std::string_view kDocument = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "frameprint serve",
    "version": "1",
    "description": "Hashing and hash-list lookups in the shapes of Hasher-Matcher-Actioner's API (facebook/ThreatExchange). Every path but /status, /status/live and /openapi.json needs 'Authorization: Bearer TOKEN' when the server runs with --token-file. Errors are JSON {\"message\": ..., \"code\": ...}. Signal types: pdq, vpdq, md5 (video_md5), sha1, sha256 (video_sha256)."
  },
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "schemas": {
      "Error": {"type": "object", "properties": {"message": {"type": "string"}, "code": {"type": "string"}}, "required": ["message"]},
      "Hashes": {"type": "object", "description": "Signal type to signal: {\"pdq\": HEX} for a photo (\"\" below --min-quality), {\"video_md5\": HEX, \"vpdq\": JSON} for a video; with format=frameprint the whole frameprint result (docs/output.md) with its matches", "additionalProperties": true},
      "MatchesByBank": {"type": "object", "description": "List name to its matching entries", "additionalProperties": {"type": "array", "items": {"$ref": "#/components/schemas/MatchWithDistance"}}},
      "MatchWithDistance": {"type": "object", "properties": {"bank_content_id": {"type": "string", "description": "the list's id for the entry (its line number when it has none)"}, "distance": {"type": "string", "description": "PDQ bits, vPDQ query%[compared%], or - for digests"}, "bank": {"type": "string"}}},
      "IndexStatus": {"type": "object", "additionalProperties": {"type": "object", "properties": {"present": {"type": "boolean"}, "built_to": {"type": "integer", "description": "when the lists were loaded (unix seconds), -1 when none"}, "size": {"type": "integer"}}}}
    },
    "parameters": {
      "url": {"name": "url", "in": "query", "schema": {"type": "string"}, "description": "http(s) URL of the media; private and loopback addresses only for hosts named with --allow-url-host"},
      "types": {"name": "types", "in": "query", "schema": {"type": "string"}, "description": "comma-separated signal types to return"},
      "format": {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["hma", "frameprint"]}},
      "signal_type": {"name": "signal_type", "in": "query", "schema": {"type": "string"}},
      "signal": {"name": "signal", "in": "query", "schema": {"type": "string"}},
      "banks": {"name": "banks", "in": "query", "schema": {"type": "string"}, "description": "comma-separated list names to restrict the answer to"}
    },
    "requestBodies": {
      "Media": {"required": true, "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {"schema": {"type": "object", "description": "exactly one file, in a field named photo or video (as HMA takes it)"}}}}
    },
    "responses": {
      "Error": {"description": "bad request (400), missing or wrong token (401), too large (413), unsupported media or body type (415), busy (503), remote fetch failed (502) or too slow (504)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  },
  "security": [{"bearer": []}],
  "paths": {
    "/h/hash": {
      "get": {"summary": "Fetch media from a URL and hash it", "parameters": [{"$ref": "#/components/parameters/url"}, {"$ref": "#/components/parameters/types"}, {"$ref": "#/components/parameters/format"}],
        "responses": {"200": {"description": "the hashes", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Hashes"}}}}, "default": {"$ref": "#/components/responses/Error"}}},
      "post": {"summary": "Hash the media in the request body", "parameters": [{"$ref": "#/components/parameters/types"}, {"$ref": "#/components/parameters/format"}], "requestBody": {"$ref": "#/components/requestBodies/Media"},
        "responses": {"200": {"description": "the hashes", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Hashes"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
    },
    "/m/raw_lookup": {
      "get": {"summary": "Look a signal up in the lists", "parameters": [{"$ref": "#/components/parameters/signal_type"}, {"$ref": "#/components/parameters/signal"}, {"$ref": "#/components/parameters/banks"}, {"name": "include_distance", "in": "query", "schema": {"type": "boolean"}}],
        "responses": {"200": {"description": "{\"matches\": [ID, ...]}, or with include_distance [{\"bank_content_id\", \"distance\", \"bank\"}, ...]", "content": {"application/json": {"schema": {"type": "object"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
    },
    "/m/lookup": {
      "get": {"summary": "Look up a signal, or the media behind a URL, by list", "parameters": [{"$ref": "#/components/parameters/url"}, {"$ref": "#/components/parameters/signal_type"}, {"$ref": "#/components/parameters/signal"}, {"$ref": "#/components/parameters/banks"}],
        "responses": {"200": {"description": "by signal: matches by list; by url: keyed by signal type, then by list", "content": {"application/json": {"schema": {"type": "object"}}}}, "default": {"$ref": "#/components/responses/Error"}}},
      "post": {"summary": "Hash the media in the body and look it up", "parameters": [{"$ref": "#/components/parameters/banks"}], "requestBody": {"$ref": "#/components/requestBodies/Media"},
        "responses": {"200": {"description": "keyed by signal type, then by list", "content": {"application/json": {"schema": {"type": "object"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
    },
    "/m/compare": {
      "post": {"summary": "Compare pairs of signals", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "description": "{\"pdq\": [A, B], ...}"}}}},
        "responses": {"200": {"description": "{\"pdq\": [match, {\"distance\": d}], \"vpdq\": [match, {\"query_match_percent\", \"compared_match_percent\"}], \"md5\": [match, {}]}", "content": {"application/json": {"schema": {"type": "object"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
    },
    "/m/index/status": {
      "get": {"summary": "What the loaded lists hold, per signal type", "parameters": [{"$ref": "#/components/parameters/signal_type"}],
        "responses": {"200": {"description": "per signal type", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IndexStatus"}}}}, "default": {"$ref": "#/components/responses/Error"}}}
    },
    "/status": {
      "get": {"summary": "Readiness: 200 I-AM-ALIVE, or 503 INDEX-NOT-LOADED", "security": [], "responses": {"200": {"description": "ready", "content": {"text/plain": {}}}, "503": {"description": "lists not loaded", "content": {"text/plain": {}}}}}
    },
    "/status/live": {
      "get": {"summary": "Liveness: 200 while the process serves HTTP", "security": [], "responses": {"200": {"description": "alive", "content": {"text/plain": {}}}}}
    },
    "/openapi.json": {
      "get": {"summary": "This document", "security": [], "responses": {"200": {"description": "OpenAPI 3", "content": {"application/json": {}}}}}
    }
  }
}
)json";

}  // namespace

std::string_view openapi_document() { return kDocument; }

}  // namespace frameprint::serve
