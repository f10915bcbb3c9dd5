import { z } from "zod";

/** Field types the config sections share. */
export const port = z.number().int().min(0).max(65535);
export const metricsPort = z.number().int().min(-1).max(65535);
export const positiveInt = z.number().int().positive();
export const nonNegative = z.number().min(0);

/** A key's `.meta()`: its one-line description, which the generated chorus.yaml and chart schema carry. */
export const about = (description: string) => ({ description });
