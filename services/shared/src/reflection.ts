import { type DescFile, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { allFiles, descriptorSetBase64 } from "@chorus/proto";
import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";

type PackageDefinition = ConstructorParameters<typeof ReflectionService>[0];

const HEALTH = "grpc.health.v1.Health";

let commented: Map<string, FileDescriptorProto> | undefined;

/** Descriptors with their comments, by file name (protobuf-es strips comments from its own). */
function commentedFiles(): Map<string, FileDescriptorProto> {
  commented ??= new Map(
    fromBinary(FileDescriptorSetSchema, Buffer.from(descriptorSetBase64, "base64")).file.map((f) => [
      f.name,
      f,
    ]),
  );
  return commented;
}

/** The files defining `serviceNames`, with their dependencies first. */
function filesFor(serviceNames: readonly string[]): DescFile[] {
  const ordered: DescFile[] = [];
  const visit = (file: DescFile) => {
    if (ordered.includes(file)) return;
    for (const dependency of file.dependencies) visit(dependency);
    ordered.push(file);
  };
  for (const file of allFiles) {
    if (file.services.some((service) => serviceNames.includes(service.typeName))) visit(file);
  }
  return ordered;
}

/** Serves gRPC server reflection (v1 and v1alpha) for the named services, with their proto comments. */
export function addReflection(server: Server, serviceNames: readonly string[]): void {
  const names = [...serviceNames, HEALTH];
  const fileDescriptorProtos = filesFor(names).map((file) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, commentedFiles().get(file.proto.name) ?? file.proto)),
  );
  // @grpc/reflection reads only `fileDescriptorProtos` from each entry of a proto-loader package definition.
  const pseudoPackage = { chorus: { fileDescriptorProtos } } as unknown as PackageDefinition;
  new ReflectionService(pseudoPackage, { services: names }).addToServer(server);
}
