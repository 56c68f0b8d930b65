import type { MemoryBudget } from './memory-budget.ts';

/** How much output one connection may hold for a client that reads slowly, or not at all. */
export interface OutputBounds {
  /**
   * Above this many bytes queued, the connection stops reading the client and stops
   * handling its commands until the queue drains: its own requests cannot pile up more.
   */
  soft: number;
  /** Above this, the client is not reading: the connection is closed at once. */
  hard: number;
  /** Output held above `soft` this long with no byte leaving: the connection is closed. */
  stallMs: number;
}

/** How much received input one connection may have waiting to be handled. */
export interface InputBounds {
  /** Above this many commands/stanzas waiting, the connection stops reading. */
  softTasks: number;
  /** Or above this many bytes waiting. */
  softBytes: number;
  /** Above this many bytes waiting, the connection is closed. */
  hardBytes: number;
}

/**
 * A few hundred KB is several screens of contact list or a large vCard: a client that
 * reads gets it without a pause. 4 MiB is far beyond any reply or burst of events a
 * client that reads leaves unread.
 */
export const DEFAULT_OUTPUT_BOUNDS: OutputBounds = {
  soft: 256 * 1024,
  hard: 4 * 1024 * 1024,
  stallMs: 60_000,
};

/** No client pipelines 100 commands without waiting for replies. */
export const DEFAULT_INPUT_BOUNDS: InputBounds = {
  softTasks: 100,
  softBytes: 1024 * 1024,
  hardBytes: 4 * 1024 * 1024,
};

/**
 * What one waiting command costs besides its bytes (the decoded object, its argument
 * strings, the closure that runs it), so a flood of tiny commands counts too.
 */
export const TASK_OVERHEAD_BYTES = 256;

/** The flow settings a listener hands its connections. */
export interface FlowLimits {
  /** The process-wide budget connections charge; unset: none. */
  budget?: MemoryBudget | undefined;
  output?: Partial<OutputBounds> | undefined;
  input?: Partial<InputBounds> | undefined;
}
