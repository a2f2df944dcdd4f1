// Placeholder; replaced as the module grows.
import CLibPQ
