// Recurrent layers: the full sequence layers (RNN, LSTM, GRU, ConvLSTM2d),
// the single-step cells for hand-written loops, and the helpers for padded
// batches and truncated backpropagation through time. The fused LSTM cell
// primitive lives in kernels/lstm.ts.
export { type CellExtras, type CellOptions, GRUCell, LSTMCell, type LSTMCellOptions, RNNCell, type RNNCellOptions } from './recurrent/cells.js';
export { ConvLSTM2d, type ConvLSTM2dOptions } from './recurrent/conv-lstm.js';
export { GRU, LSTM, type LSTMOptions, type RecurrentExtras, type RecurrentOptions, RNN, type RNNOptions } from './recurrent/layers.js';
export { RecurrentOutput, type RecurrentResult, type RecurrentSelect } from './recurrent/output.js';
export { detachState, type RecurrentState, type SequenceOptions } from './recurrent/sequence.js';
