import { Dropout, Linear, Module, relu, type Tensor } from '@adapterkit/core';

/** Bag-of-words → hidden → 2 classes. */
export class BowClassifier extends Module {
  readonly hidden: Linear;
  readonly dropout: Dropout;
  readonly out: Linear;

  constructor(vocabSize: number, hiddenSize: number, dropoutP: number) {
    super();
    this.hidden = this.registerModule('hidden', new Linear(vocabSize, hiddenSize));
    this.dropout = this.registerModule('dropout', new Dropout(dropoutP));
    this.out = this.registerModule('out', new Linear(hiddenSize, 2));
  }

  forward(x: Tensor): Tensor {
    return this.out.forward(this.dropout.forward(relu(this.hidden.forward(x))));
  }
}
