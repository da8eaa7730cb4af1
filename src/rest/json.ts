/** The JSON representation of integers lives in the service layer (src/service/json.ts), shared by both transports. */
export { EXACT_INTEGER_DESCRIPTION, stringifyExact } from "../service/json.js";
