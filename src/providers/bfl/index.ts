export { type BflProviderOptions, createBflProvider } from "./provider.js";
