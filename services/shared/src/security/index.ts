export * from "./acting-for.js";
export * from "./credentials.js";
export * from "./exposure.js";
export * from "./guard.js";
export * from "./mesh.js";
export * from "./peer.js";
export * from "./principal.js";
