/** The Scalar API reference's standalone browser bundle, as text. See scalar-script.js. */
export declare const SCALAR_SCRIPT: string;
