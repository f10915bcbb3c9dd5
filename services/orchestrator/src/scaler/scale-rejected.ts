/** Why a request to resize a pool by hand was refused. */
export type ScaleRejection = "unknown_pool" | "out_of_range";

/** A resize by hand that the scaler refused; the message names the bad field. */
export class ScaleRejected extends Error {
  constructor(
    readonly reason: ScaleRejection,
    message: string,
  ) {
    super(message);
    this.name = "ScaleRejected";
  }
}
