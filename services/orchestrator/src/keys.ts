// The API key helpers `chorus keys create` uses, importable without loading the orchestrator itself.
export { type ApiKeyParts, hashSecret, type NewApiKey, newApiKey, parseApiKey } from "./api/auth/api-key.js";
export { type KeyEntry, keyEntryYaml, parseKeysFile } from "./api/auth/keys-file.js";
