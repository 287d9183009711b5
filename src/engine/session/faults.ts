// Owns the test-only fault rewrite: how a broken model server would corrupt a recommendation answer.
import type { Fault } from '../../protocol.js';

export function applyFault(fault: Fault, answer: string): string {
  switch (fault) {
    case 'none':
    case 'diverge':
      return answer;
    case 'garbage':
      return answer.replace(/[^\n]+/g, 'zz?!#');
    case 'out_of_range':
      return answer.replace(/[^\s]+/g, '999999999999');
  }
}
