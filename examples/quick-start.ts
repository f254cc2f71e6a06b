// Seed 000's quick start, as written (Python -> TypeScript: camelCase names,
// `await` inside an async function, bytes as a Buffer). Prints:
//   Hello, Pool!
//   Utilization: 0.00%
//   Fragmentation: 0.00%
import { AllocationStrategy, MemoryPoolConfig, MemoryPoolingModule } from 'memory-pool-core';

/** Python's f"{x:.2%}". */
const percent = (x: number): string => `${(x * 100).toFixed(2)}%`;

async function main(): Promise<void> {
  // Configure pool
  const config = MemoryPoolConfig({
    poolSize: 1024 * 1024 * 100, // 100 MB
    allocationStrategy: AllocationStrategy.BEST_FIT,
    enableDefragmentation: true,
    defragThreshold: 0.3,
  });

  // Initialize module
  const module = new MemoryPoolingModule(config);
  await module.initialize();

  // Allocate memory
  const result = await module.allocate('default', 4096, { owner: 'tenant1' });
  if (result.success) {
    // Write data
    module.write('default', result.blockId, Buffer.from('Hello, Pool!'));

    // Read data
    const data = module.read('default', result.blockId, 12);
    console.log(data.toString()); // Hello, Pool!
  }

  // Deallocate
  await module.deallocate('default', result.blockId);

  // Get metrics
  const metrics = module.getMetrics('default');
  console.log(`Utilization: ${percent(metrics.utilization)}`);
  console.log(`Fragmentation: ${percent(metrics.fragmentationRatio)}`);

  await module.shutdown();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
