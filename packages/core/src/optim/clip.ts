import { noGrad } from '../autograd/grad-mode.js';
import { tidy } from '../backend/scope.js';
import { add, div, maximum, minimum, mul, pow } from '../ops/binary.js';
import { cast } from '../ops/cast.js';
import { zeros } from '../ops/creation.js';
import { max, sum } from '../ops/reduce.js';
import { abs, sqrt, square } from '../ops/unary.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * Clips gradients as torch.nn.utils.clip_grad_norm_: the total norm is taken
 * over all gradients together, and every gradient is scaled (via assign) by
 * min(1, maxNorm / (total + 1e-6)). Returns the total norm before clipping as
 * a scalar f32 tensor that the caller owns (`await n.item()` to log it). It
 * runs on the device with no host read, so GPU backends do not stall.
 * `normType` is 2 by default; Infinity gives the max-abs norm.
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2): Tensor {
  const withGrad = [...params].filter((p) => p.grad !== null);
  if (withGrad.length === 0) return zeros([]);
  return noGrad(() =>
    tidy(() => {
      // Accumulate in f32 so f16/bf16 gradients do not overflow the sum.
      const parts = withGrad.map((p) => {
        const g = cast(p.grad!, 'f32');
        if (normType === Infinity) return max(abs(g));
        return normType === 2 ? sum(square(g)) : sum(pow(abs(g), normType));
      });
      let acc = parts[0]!;
      for (const t of parts.slice(1)) acc = normType === Infinity ? maximum(acc, t) : add(acc, t);
      const total = normType === Infinity ? acc : normType === 2 ? sqrt(acc) : pow(acc, 1 / normType);
      // Multiplying by a clamped coefficient (1 when under the limit) avoids reading the norm back.
      const coef = minimum(div(maxNorm, add(total, 1e-6)), 1);
      for (const p of withGrad) {
        const g = p.grad!;
        g.assign(mul(g, cast(coef, g.dtype)));
      }
      return total;
    }),
  );
}
