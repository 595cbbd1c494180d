// Importing this module registers every suite. Adding one: a file here and one line below.
import './perplexity/suite.ts';
import './extrapolation/suite.ts';
import './needle/suite.ts';
import './icl/suite.ts';
import './efficiency/suite.ts';
import './forgetting/suite.ts';
import './selfimprove/suite.ts';
import './scaling/suite.ts';
import './latent/suite.ts';
export * from './registry.ts';
