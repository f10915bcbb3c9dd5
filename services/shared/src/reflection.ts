import { toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { allFiles } from "@chorus/proto";
import type { Server } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";

type PackageDefinition = ConstructorParameters<typeof ReflectionService>[0];

/** Serves gRPC server reflection (v1 and v1alpha) for the named services, from protobuf-es descriptors. */
export function addReflection(server: Server, serviceNames: readonly string[]): void {
  const fileDescriptorProtos = allFiles.map((file) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, file.proto)),
  );
  // @grpc/reflection reads only `fileDescriptorProtos` from each entry of a proto-loader package definition.
  const pseudoPackage = { chorus: { fileDescriptorProtos } } as unknown as PackageDefinition;
  new ReflectionService(pseudoPackage, { services: [...serviceNames, "grpc.health.v1.Health"] }).addToServer(
    server,
  );
}
