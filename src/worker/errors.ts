import type { GraphApiError } from '../meta/graph-error.ts';

/** Meta refused the token or its permissions: nothing more may be submitted until an operator fixes it. */
export class SubmissionHaltedError extends Error {
  override readonly name = 'SubmissionHaltedError';
  readonly graph: GraphApiError;
  constructor(graph: GraphApiError) {
    super(`Meta refused the credentials (${graph.kind}, code ${graph.code ?? 'none'}): ${graph.message}`);
    this.graph = graph;
  }
}

/** Meta refused the request itself (invalid parameter): retrying the same request cannot help. */
export class FlushRefusedError extends Error {
  override readonly name = 'FlushRefusedError';
  readonly graph: GraphApiError;
  constructor(graph: GraphApiError) {
    super(
      `Meta refused the items_batch request (${graph.kind}, code ${graph.code ?? 'none'}): ${graph.message}`,
    );
    this.graph = graph;
  }
}
