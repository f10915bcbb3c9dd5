export { allFiles } from "./files.js";
export * from "./gen/chorus/v1/agent_pb.js";
export * from "./gen/chorus/v1/chat_pb.js";
export * from "./gen/chorus/v1/history_pb.js";
export * from "./gen/chorus/v1/types_pb.js";
export * from "./gen/chorus/v1/usage_pb.js";
export { descriptorSetBase64 } from "./gen/descriptor-set.js";
export * from "./gen/grpc/health/v1/health_pb.js";
