// Every built-in layer class, imported for the registration each module does
// when it loads (registerLayer). io/ imports this, so that reading an
// architecture file can build any built-in layer even in a bundle whose code
// names none of them.
import './activation.js';
import './conv.js';
import './dropout.js';
import './embedding.js';
import './lambda.js';
import './linear.js';
import './locally-connected.js';
import './merge.js';
import './normalization.js';
import './pool.js';
import './reshape.js';
import './recurrent/cells.js';
import './recurrent/conv-lstm.js';
import './recurrent/layers.js';
import './recurrent/output.js';
import './recurrent/sequence.js';
import './recurrent/steps.js';
import '../containers.js';
import '../graph.js';
