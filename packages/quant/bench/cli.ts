/** `npx tsx bench/cli.ts [backend]`: runs the quant benchmark on its own (results in bench/results/). */
import { registerFastCpuBackend } from '@adapterkit/backend-cpu';
import { benchQuant } from './quant.js';

const wanted = process.argv[2];
if (wanted !== 'cpu-ref') registerFastCpuBackend();
await benchQuant({ backend: wanted });
