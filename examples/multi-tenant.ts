// Seed 000's multi-tenant example, as written (camelCase, `await` inside an
// async function). The seed prints nothing and says the module tracks
// tenant_allocations[owner] -> Set[block_ids]; the last lines show that
// tracking. Prints:
//   tenant_a: 1 block(s), 1024 bytes
//   tenant_b: 1 block(s), 2048 bytes
import { MemoryPoolConfig, MemoryPoolingModule } from 'memory-pool-core';

async function main(): Promise<void> {
  const module = new MemoryPoolingModule(MemoryPoolConfig({ poolSize: 1024 * 1024 }));
  await module.initialize();

  // Allocate for different tenants
  const result1 = await module.allocate('default', 1024, { owner: 'tenant_a' });
  const result2 = await module.allocate('default', 2048, { owner: 'tenant_b' });

  // Track allocations per tenant
  // Module tracks tenant allocations: owner -> block ids
  for (const [owner, result] of [
    ['tenant_a', result1],
    ['tenant_b', result2],
  ] as const) {
    const blocks = module.ownerBlocks('default', owner);
    const usage = module.getOwnerMetrics('default', owner);
    if (!blocks.includes(result.blockId)) throw new Error(`${owner} lost its block`);
    console.log(`${owner}: ${blocks.length} block(s), ${usage.bytesInUse} bytes`);
  }

  await module.shutdown();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
