/**
 * kbin's version, from package.json (embedded in the compiled binary).
 *
 * @module
 */

import pkg from "../package.json" with { type: "json" };

/** The release version, e.g. "0.1.0". */
export const VERSION: string = pkg.version;
