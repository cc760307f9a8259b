// The script-tag build (dist/sdk.js): settings from its own <script> tag, which a module
// (type="module") does not have.

import { start } from "./start.js";

start(document.currentScript);
