import type { SimFault, SimKnobs, SimKnobsPatch } from './config.js';

/** The runtime knobs of one simulator: read per request, changed through the control API. */
export class SimState {
  #knobs: SimKnobs;

  constructor(knobs: SimKnobs) {
    this.#knobs = structuredClone(knobs);
  }

  /** A copy: each request works from the knobs as they were when it arrived. */
  get knobs(): SimKnobs {
    return structuredClone(this.#knobs);
  }

  /** Applies an already validated partial update and returns the resulting knobs. */
  update(patch: SimKnobsPatch): SimKnobs {
    // Skip explicit `undefined` so a programmatic `{ fault: undefined }` leaves the fault alone instead of erasing it.
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
    this.#knobs = structuredClone({ ...this.#knobs, ...defined });
    return this.knobs;
  }

  /**
   * The fault for the request now starting, if any. A fault with `times` counts down and clears itself after
   * its last use, so tests can inject "fail the next two requests" without a second call.
   */
  takeFault(): SimFault | null {
    const fault = this.#knobs.fault;
    if (fault === null || fault.times === undefined) return fault;
    const remaining = fault.times - 1;
    this.#knobs.fault = remaining > 0 ? { ...fault, times: remaining } : null;
    return fault;
  }
}
