fn main() {} // placeholder until the engine benchmark lands
