// `import { ... } from 'rowshard/nn'`: the model API (tables, operations, losses, the Model shape).
export * from '@rowshard/nn';
