// Owns the message shapes between the server and its training process.

export interface NetworkSpec {
  inputs: number;
  hidden: number[];
  outputs: number;
  learningRate: number;
}

export type WorkerRequest =
  | { op: 'build'; id: number; model: string; spec: NetworkSpec; weights?: Float32Array[] }
  | { op: 'train'; id: number; model: string; xs: Float32Array; ys: Float32Array; batchSize: number; batches: number; learningRate: number }
  | { op: 'predict'; id: number; model: string; xs: Float32Array; rows: number }
  | { op: 'dispose'; id: number; model: string };

export type WorkerReply =
  | { id: number; ok: true; weights?: Float32Array[]; loss?: number; steps?: number; diverged?: boolean; outputs?: Float32Array; backend?: string }
  | { id: number; ok: false; error: string };
