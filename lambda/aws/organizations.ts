/**
 * The member accounts to cover: every ACTIVE account directly under each chosen OU
 * (ListAccountsForParent, paginated), or an explicit list. An OU that cannot be listed is reported,
 * not fatal: the other OUs are still covered.
 */
import { ListAccountsForParentCommand, type OrganizationsClient } from '@aws-sdk/client-organizations';
import type { Clock } from './clock';
import { withRetry } from './retry';

export interface AccountListing {
  /** Unique account ids, in listing order. */
  readonly accounts: string[];
  /** OUs that could not be listed, with why. */
  readonly failures: { readonly ou: string; readonly error: string }[];
}

/** Lists the ACTIVE accounts of each OU (its direct children; nested OUs are listed as their own entries). */
export async function listAccountsOfOus(orgs: Pick<OrganizationsClient, 'send'>, ous: readonly string[], clock: Clock): Promise<AccountListing> {
  const seen = new Set<string>();
  const failures: { ou: string; error: string }[] = [];
  for (const ou of ous) {
    let token: string | undefined;
    try {
      do {
        const page = await withRetry(() => orgs.send(new ListAccountsForParentCommand({ ParentId: ou, MaxResults: 20, ...(token ? { NextToken: token } : {}) })), clock, {
          operation: 'ListAccountsForParent',
        });
        for (const a of page.Accounts ?? []) {
          // `State` replaces the deprecated `Status`; either says whether the account can be entered.
          const state = (a as { State?: string }).State ?? a.Status;
          if (a.Id && state === 'ACTIVE') seen.add(a.Id);
        }
        token = page.NextToken;
      } while (token);
    } catch (err) {
      const e = err as { name?: string; message?: string };
      failures.push({ ou, error: `${e?.name ?? 'Error'}: ${e?.message ?? String(err)}` });
    }
  }
  return { accounts: [...seen], failures };
}
