/// Print the answer, computed the long way.
fn answer() -> u32 {
    (1..=6).sum::<u32>() * 2
}

fn main() {
    println!("The answer is {}", answer());
}
