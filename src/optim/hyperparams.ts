// The optimizers' and schedulers' checks are the library's one validation
// module (core/validate.ts); the names here are the ones optim/ uses.
export { Check as HyperCheck, show } from '../core/validate.js';
