import { type DescFile, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
} from "@bufbuild/protobuf/wkt";
import { allFiles, descriptorSetBase64 } from "@chorus/proto";
import type { Server, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
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

// @grpc/reflection reads only `fileDescriptorProtos` from each entry of a proto-loader package definition.
function commentedPackage(names: readonly string[]): PackageDefinition {
  const fileDescriptorProtos = filesFor(names).map((file) =>
    Buffer.from(toBinary(FileDescriptorProtoSchema, commentedFiles().get(file.proto.name) ?? file.proto)),
  );
  return { chorus: { fileDescriptorProtos } } as unknown as PackageDefinition;
}

type Added = [ServiceDefinition, UntypedServiceImplementation];

// The services (v1 and v1alpha) and handlers a ReflectionService of `pkg` adds to a server.
function reflectionServices(pkg: PackageDefinition, names: readonly string[]): Added[] {
  const added: Added[] = [];
  const server = {
    addService: (service: ServiceDefinition, impl: UntypedServiceImplementation) =>
      added.push([service, impl]),
  };
  new ReflectionService(pkg, { services: [...names] }).addToServer(server);
  return added;
}

/**
 * Serves gRPC server reflection (v1 and v1alpha) for the named services, with their proto comments.
 * Decoding the commented descriptors is a good part of a service's start (and restart) time, so it
 * waits for the first reflection call.
 */
export function addReflection(server: Server, serviceNames: readonly string[]): void {
  const names = [...serviceNames, HEALTH];
  let served: Added[] | undefined;
  const handlers = () => (served ??= reflectionServices(commentedPackage(names), names));
  reflectionServices({}, names).forEach(([service, impl], index) => {
    const lazy: UntypedServiceImplementation = {};
    for (const method of Object.keys(impl)) {
      lazy[method] = ((call: unknown) => {
        const handler = handlers()[index]?.[1][method] as ((call: unknown) => void) | undefined;
        handler?.(call);
      }) as UntypedServiceImplementation[string];
    }
    server.addService(service, lazy);
  });
}
