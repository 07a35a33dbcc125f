import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';

/**
 * Passes handler errors through unchanged, so `ParleyNatsServer` can reply with their code. (Nest's default
 * RPC filter replaces every non-`RpcException` with a generic "Internal server error".)
 */
@Catch()
export class PassThroughRpcFilter implements RpcExceptionFilter {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
