/** asl-validator 4 ships no types: the part of its API the tests use. */
declare module 'asl-validator' {
  interface AslValidationError {
    readonly 'Error code': string;
    readonly Message: string;
  }
  export default function validator(definition: unknown, options?: { checkPaths?: boolean; checkArn?: boolean }): { isValid: boolean; errors: AslValidationError[] };
}
