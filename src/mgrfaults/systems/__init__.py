"""Systems: the DNN grid (SGD, dropout, Hessian-free, RBM), learned-feature classifiers, the BFF baseline."""
