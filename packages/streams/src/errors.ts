// The two failures of the DSL: a topology that cannot be built, and a record a task cannot process.

/**
 * A topology that cannot be built or run as written: a duplicate name, sources that must be
 * co-partitioned but cannot be, an operator used where it has no meaning.
 *
 * @example
 * try { builder.build(); } catch (e) { if (e instanceof TopologyException) console.error(e.message); }
 */
export class TopologyException extends Error {
  constructor(message: string) {
    super(`Invalid topology: ${message}`);
    this.name = 'TopologyException';
  }
}

/**
 * A record a task could not process, e.g. a key its serde cannot write.
 *
 * @example
 * throw new StreamsException('the key of a windowed aggregation must not serialize to null');
 */
export class StreamsException extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamsException';
  }
}
