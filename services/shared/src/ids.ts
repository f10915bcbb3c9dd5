import { invalidArgument } from "./status.js";

const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

/** True when `value` is a well-formed conversation or turn id. */
export function isValidId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** Returns `value` when it is a well-formed id, else throws INVALID_ARGUMENT naming `field`. */
export function validateId(field: string, value: string): string {
  if (value.length === 0) invalidArgument(field, "is required");
  if (!isValidId(value)) {
    invalidArgument(field, "must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' or '-'");
  }
  return value;
}
