// Importing this module registers every architecture. Adding one: a file here and one line below.
import './transformer.ts';
export * from './registry.ts';
