import { ErrorCodes, RowshardError } from '@rowshard/core';
import type { Tensor } from './tensor.js';

/**
 * Reverse-mode autodiff from a scalar: seed d(loss)/d(loss) = `seed` (1, or a worker's share of
 * the global batch, which scales every gradient at no extra pass), then run each node's
 * backward function in reverse topological order so every node's gradient is complete
 * before it is propagated. The graph is the tensors' parent links; there is no global tape,
 * so several models can train side by side in one process.
 */
export function backward(loss: Tensor, seed = 1): void {
  if (loss.data.length !== 1) {
    throw new RowshardError(ErrorCodes.BAD_SHAPE, `backward() needs a scalar loss, got shape [${loss.shape.join(', ')}]`);
  }
  if (!loss.requiresGrad) return;
  const order = topologicalOrder(loss);
  loss.gradBuffer()[0] += seed;
  for (let i = order.length - 1; i >= 0; i--) {
    const node = order[i];
    if (node.backwardFn && node.grad) node.backwardFn();
  }
}

function topologicalOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: deep graphs (long sequences of ops) must not overflow the JS stack.
  const stack: Array<{ node: Tensor; next: number }> = [{ node: root, next: 0 }];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top.next < top.node.parents.length) {
      const parent = top.node.parents[top.next++];
      if (parent.requiresGrad && !seen.has(parent)) {
        seen.add(parent);
        stack.push({ node: parent, next: 0 });
      }
    } else {
      order.push(top.node);
      stack.pop();
    }
  }
  return order;
}
