fn main() {} // placeholder until the check benchmark lands
