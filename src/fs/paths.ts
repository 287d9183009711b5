// Owns path parsing: which node of the tree a FUSE path names.

export type Node =
  | { kind: 'root' }
  | { kind: 'models' }
  | { kind: 'root_file'; file: string }
  | { kind: 'model'; model: string }
  | { kind: 'model_file'; model: string; file: string }
  | { kind: 'model_subdir_file'; model: string; dir: string; file: string }
  | { kind: 'none' };

export const MODELS_DIR = 'models';

export function parsePath(path: string): Node {
  if (path === '/') return { kind: 'root' };
  const parts = path.split('/').slice(1);
  if (parts.some((p) => p === '')) return { kind: 'none' };
  if (parts.length === 1) return parts[0] === MODELS_DIR ? { kind: 'models' } : { kind: 'root_file', file: parts[0] };
  if (parts[0] !== MODELS_DIR) return { kind: 'none' };
  if (parts.length === 2) return { kind: 'model', model: parts[1] };
  if (parts.length === 3) return { kind: 'model_file', model: parts[1], file: parts[2] };
  if (parts.length === 4) return { kind: 'model_subdir_file', model: parts[1], dir: parts[2], file: parts[3] };
  return { kind: 'none' };
}
